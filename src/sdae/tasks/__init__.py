"""Tasks built on the core: image denoising, filling in missing values, sampling."""
