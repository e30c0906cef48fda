"""Deals: the list with its filters and bulk actions, the detail page and its stage actions, the board, the
home page's deal panels, and the services every deal write goes through."""
