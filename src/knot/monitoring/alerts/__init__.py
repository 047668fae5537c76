"""Alert rules over monitor results, their state machine, events and webhooks."""
