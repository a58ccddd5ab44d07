"""Launchers: start agents where the compute is (one per GPU here, or a SLURM job array)."""
