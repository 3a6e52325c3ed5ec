"""Pure tensor ops (no models): the pixel-wise Gaussian blur of Eq. 4-5, flow warping."""
