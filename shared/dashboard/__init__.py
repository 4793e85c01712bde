"""Read-only views the dashboard shows beside the API's lists: a payment's timeline and
provider attempts, the overview's figures and 30-day series."""
