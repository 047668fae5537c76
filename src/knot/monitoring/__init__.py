"""Monitoring: drift statistics, delayed-label performance, alert rules and reports."""
