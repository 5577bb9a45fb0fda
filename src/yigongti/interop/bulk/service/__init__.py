"""Use cases of bulk data: jobs, the import, the export and their kick-off operations."""
