# Chinese business usage, where Django's defaults differ: amounts grouped by thousands with commas
# (¥1,234,567, as on invoices and in finance reports) and compact dates in tables.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
