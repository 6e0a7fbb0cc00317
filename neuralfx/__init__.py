"""neuralfx: neural audio texture synthesis and style transfer as an audio effect."""

__version__ = "0.1.0"
