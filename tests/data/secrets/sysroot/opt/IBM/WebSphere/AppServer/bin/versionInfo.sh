#!/bin/sh
# Fake versionInfo.sh: the report of a WAS ND 9.0.5.14 installation.
if [ "$1" != "-maintenancePackages" ]; then
    echo "usage: versionInfo.sh -maintenancePackages" >&2
    exit 1
fi
# A JVM notice echoing the site's JAVA_TOOL_OPTIONS, one of them a secret.
echo "Picked up JAVA_TOOL_OPTIONS: -Djavax.net.ssl.trustStorePassword=PLANTED-WAS-CMD-10"
/bin/cat <<'EOF'
WVER0010I: Copyright (c) IBM Corporation 2002, 2012; All rights reserved.
WVER0012I: VersionInfo reporter version 1.15.1.48, dated 2/8/12

--------------------------------------------------------------------------------
IBM WebSphere Product Installation Status Report
--------------------------------------------------------------------------------

Report at date and time May 10, 2024 9:41:07 AM CEST

Installation
--------------------------------------------------------------------------------
Product Directory        /opt/IBM/WebSphere/AppServer
Version Directory        /opt/IBM/WebSphere/AppServer/properties/version
DTD Directory            /opt/IBM/WebSphere/AppServer/properties/version/dtd
Log Directory            /var/ibm/InstallationManager/logs

Product List
--------------------------------------------------------------------------------
ND                       installed

Installed Product
--------------------------------------------------------------------------------
Name                  IBM WebSphere Application Server Network Deployment
Version               9.0.5.14
ID                    ND
Build Level           cf142247.02
Build Date            11/28/22
Package               com.ibm.websphere.ND.v90_9.0.5014.20221128_1104
Architecture          x86-64 (64 bit)
Installed Features    IBM 64-bit WebSphere SDK for Java, Version 8
                      WebSphere Application Server Full Profile
                      EJBDeploy tool for pre-EJB 3.0 modules
                      Embeddable EJB container
                      Stand-alone thin clients and resource adapters

Installed Maintenance Package
--------------------------------------------------------------------------------
Maintenance Package ID   9.0.5.14-WS-WAS-IFPH52117
Description              Interim fix for APAR PH52117 (servlet request dispatching)
Build Date               2/14/23

Installed Maintenance Package
--------------------------------------------------------------------------------
Maintenance Package ID   9.0.5.14-WS-WASND-IFPH53310
Description              Interim fix for APAR PH53310 (node synchronization)
Build Date               4/3/23

--------------------------------------------------------------------------------
End Installation Status Report
--------------------------------------------------------------------------------
EOF
