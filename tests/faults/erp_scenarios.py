"""The firm and post rows: ERP sandbox faults; afterwards exactly one document per action."""
