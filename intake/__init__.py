"""pa-intake: the reference service-request intake server for pa-collect bundles.

Modules, one job each:

    cli         click commands (`pa-intake serve|token|case|list|get`); errors -> exit codes
    server      uvicorn with TLS, keep-alive and connection limits
    app         HTTP routes (tus, receipt, engineers); ProtocolError -> response
    service     upload operations: create, write a chunk, terminate, expire, recover
    tus         protocol constants and header parsing (metadata, checksum, offsets)
    transfer    one PATCH body into the data file: bounded, verified, synced
    state       upload records on disk (<storage>/uploads/<id>/)
    completion  the checks a finished upload passes before it is attached
    store       stored bundles (<storage>/<case>/) and quarantine
    auth        hashed API tokens and registered cases (<storage>/auth/)
    identifiers what case numbers, customer numbers and file names look like
    settings    limits; size and duration parsing
    files       atomic, synced file writes and locks
    errors      IntakeError and ProtocolError

The HTTP API is described in schemas/intake.openapi.yaml.
"""
