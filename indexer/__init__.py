"""Everything that defines the catalog and the index: the only writer."""
