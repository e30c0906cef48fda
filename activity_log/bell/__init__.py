"""The bell: the top bar's count of unread notifications and the list it opens (/notifications/)."""
