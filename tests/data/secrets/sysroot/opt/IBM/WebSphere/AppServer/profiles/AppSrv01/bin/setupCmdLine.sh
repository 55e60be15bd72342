#!/bin/sh
# Fake profile setupCmdLine.sh: the assignments a real one starts with.
WAS_USER_SCRIPT=/opt/IBM/WebSphere/AppServer/profiles/AppSrv01/bin/setupCmdLine.sh
export WAS_USER_SCRIPT
USER_INSTALL_ROOT=/opt/IBM/WebSphere/AppServer/profiles/AppSrv01
export USER_INSTALL_ROOT
WAS_CELL=cell01
export WAS_CELL
WAS_NODE=node01
export WAS_NODE
