"""kinlink: the command-line face and shared configuration over linkage, gateway, policies and audit."""

__all__ = ["__version__"]
__version__ = "0.1.0"
