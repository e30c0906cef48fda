"""The pickers: the search-as-you-type choice fields and the one endpoint they ask."""
