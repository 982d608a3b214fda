"""Domain logic: plain data in, plain data out, no Slack types."""
