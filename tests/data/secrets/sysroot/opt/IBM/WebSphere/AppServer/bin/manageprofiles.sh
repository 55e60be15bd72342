#!/bin/sh
# Fake manageprofiles.sh: only the read-only -listProfiles mode.
if [ "$1" = "-listProfiles" ]; then
    echo "[Dmgr01, AppSrv01]"
    exit 0
fi
echo "INSTCONFFAILED: this fake only lists profiles" >&2
exit 1
