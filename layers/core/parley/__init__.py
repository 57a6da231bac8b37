"""Parley: a serverless AI-assistant backend for AWS Lambda.

Importing ``parley`` is cheap on purpose; each capability lives in its own subpackage and is
imported only by the functions that use it.
"""

__version__ = "0.1.0"
