"""Business writes. Admin hooks, actions, views, commands and importers all call these."""
