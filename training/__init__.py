"""Training pipeline for the Food-11 MobileNetV2 classifier (see models/README.md)."""
