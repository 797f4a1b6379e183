"""The local web app (``microaction serve``): a small server and a static page."""
