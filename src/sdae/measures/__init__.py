"""Measures of what a model learned (probes, filter statistics, Gabor fits) and figures."""
