"""Model artifact operations behind `edgeops model ...`: build, compat matrix, push, and the model.yaml edits."""
