"""microaction: micro-action recognition on the MA-52 benchmark."""

__version__ = "0.2.0"
