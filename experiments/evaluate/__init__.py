"""Evaluation of trained models: frozen-feature probes, metrics, reports."""
