"""The game world: factions, stat schema, roster, patches, lexicons and name resolution."""
