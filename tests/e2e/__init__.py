"""The real-Ray lane: `kubectl ray job ...` against a real Ray head and the API emulator playing KubeRay."""
