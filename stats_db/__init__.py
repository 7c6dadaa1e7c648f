"""The data layer: SQLite is the record of every patch, LanceDB the retrieval index.

    from stats_db.datafolder import open_store
    from stats_db.ingest import import_paths
"""
