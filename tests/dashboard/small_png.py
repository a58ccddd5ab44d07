"""Shrink a browser screenshot to a 256-colour PNG (the README picture stays a few hundred KB).

Chromium decodes the PNG (no imaging library needed). The palette is the 40 most frequent colours
(background, text greys) plus a 6x6x6 colour cube that keeps the hues of the plots; every pixel
maps to its nearest palette entry.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

_DECODE = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const blob = new Blob([bytes], { type: "image/png" });
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let text = "";
  for (let i = 0; i < rgba.length; i += 32768) {
    text += String.fromCharCode(...rgba.subarray(i, i + 32768));
  }
  return [bitmap.width, bitmap.height, btoa(text)];
}"""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png(rgb: np.ndarray) -> bytes:
    height, width, _ = rgb.shape
    flat = rgb.reshape(-1, 3).astype(np.uint32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    top = unique[np.argsort(-counts, kind="stable")[:40]]

    def split(k: np.ndarray) -> np.ndarray:
        return np.stack([(k >> 16) & 255, (k >> 8) & 255, k & 255], axis=1)

    levels = np.arange(6) * 51
    cube = np.array([(r, g, b) for r in levels for g in levels for b in levels])
    palette = np.vstack([split(top), cube])
    _, nearest = cKDTree(palette).query(split(unique))
    index = np.asarray(nearest)[inverse].reshape(height, width).astype(np.uint8)
    raw = b"".join(b"\x00" + index[y].tobytes() for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
        + _chunk(b"PLTE", palette.astype(np.uint8).tobytes())
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def small_screenshot(page: Any, **screenshot_args: Any) -> bytes:
    """``page.screenshot(**screenshot_args)`` as a 256-colour PNG."""
    png = page.screenshot(type="png", **screenshot_args)
    width, height, data = page.evaluate(_DECODE, base64.b64encode(png).decode())
    rgba = np.frombuffer(base64.b64decode(data), dtype=np.uint8).reshape(height, width, 4)
    return palette_png(rgba[:, :, :3])
