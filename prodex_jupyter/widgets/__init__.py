"""Layer 5: notebook widgets, thin views over runs."""
