"""The retrain loop: triggers, the controller's persisted state and lease, the steps of
one retraining and the canary judge, driven by a model's loop.yaml."""
