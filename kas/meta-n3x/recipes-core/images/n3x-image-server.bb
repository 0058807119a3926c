# The k3s server image (role `server`). A node overlay pair (kas/network/<profile>.yml and
# kas/node/<node>.yml) adds n3x-node-config, which makes it that node of that profile.

DESCRIPTION = "n3x k3s server image"

require n3x-image.inc

IMAGE_INSTALL:append = " k3s-server"
