import logging


class EscapeNewlinesFilter(logging.Filter):
    """Keep one event on one line, so user input cannot forge log entries (QUALITY S26)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message or "\r" in message:
            record.msg = message.replace("\r", "\\r").replace("\n", "\\n")
            record.args = None
        return True
