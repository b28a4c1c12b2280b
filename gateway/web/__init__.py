"""Server-rendered pages for MASH staff and IG officers, beside the JSON API (issue 6)."""
