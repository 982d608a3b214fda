"""Adapters that speak to Slack's Web API on behalf of services (directory, messages)."""
