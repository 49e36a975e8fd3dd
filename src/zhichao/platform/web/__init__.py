"""Server-rendered pages (Jinja2), Chinese first, English on request."""
