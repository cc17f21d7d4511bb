"""Forwards alert-topic messages (alarms, tracker failures) to a Slack incoming webhook."""
