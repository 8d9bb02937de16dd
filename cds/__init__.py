"""A CDS Hooks 2.0 service naming the likely causes of leg pain and cramps at night or at rest."""

__version__ = "0.1.0"
