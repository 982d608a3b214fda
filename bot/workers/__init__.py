"""Background work: jobs recorded in the database, run after Slack has been answered."""
