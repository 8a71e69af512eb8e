"""Drives Topoflow's API with Skydive's own Python client (PyPI skydive-client), unchanged.

Usage: python skydive_client_compat.py HOST:PORT USERNAME PASSWORD
Prints one line per check and exits non-zero on the first failure.
"""
import json
import sys
import urllib.error

from skydive.rest.client import BadRequest, RESTClient
from skydive.graph import Edge, Node
from skydive.captures import Capture
from skydive.rules import EdgeRule, NodeRule

endpoint, username, password = sys.argv[1:4]


def check(name, cond, detail=""):
    if not cond:
        print("FAIL %s %s" % (name, detail))
        sys.exit(1)
    print("ok %s" % name)


client = RESTClient(endpoint, username=username, password=password)

# queries
hosts = client.lookup_nodes("G.V().Has('Type', 'host')")
check("lookup_nodes returns Node objects", all(isinstance(n, Node) for n in hosts))
check("lookup_nodes finds both hosts", sorted(n.host for n in hosts) == ["node-a", "node-b"], [n.host for n in hosts])
check("login set the authtoken cookie", client.auth.authenticated and client.auth.token != "")
check("host metadata carries Sockets", all(isinstance(n.metadata.get("Sockets"), list) for n in hosts))
check("Count() is a bare number", client.lookup("G.V().Count()") == 5)
edges = client.lookup_edges("G.E().Has('RelationType', 'layer2')")
check("lookup_edges returns Edge objects", len(edges) == 1 and isinstance(edges[0], Edge) and edges[0].parent == "eth-a")
flows = client.lookup("G.Flows()")
check("G.Flows() returns a list of flows", isinstance(flows, list) and sorted(f["UUID"] for f in flows) == ["flow-http", "flow-ssh"], flows)
# skydive-flow-matrix's query: a minute ago, only the ssh flow existed (the http one started 10 s ago)
sockets = client.lookup("G.Context('-1m', 60).Flows().Has('Transport', NE('')).Sockets()")
check("Flows().Sockets() with a time context is a list of one object keyed by flow UUID",
      isinstance(sockets, list) and len(sockets) == 1 and list(sockets[0].keys()) == ["flow-ssh"], sockets)
ends = sockets[0]["flow-ssh"]
check("the flow's sockets are both ends, client and server",
      sorted((s["Name"], s["Process"], s["LocalAddress"], s["LocalPort"], s["RemoteAddress"], s["RemotePort"]) for s in ends) == [
          ("ssh", "/usr/bin/ssh", "10.0.0.1", 51000, "10.0.0.2", 22),
          ("sshd", "/usr/sbin/sshd", "10.0.0.2", 22, "10.0.0.1", 51000)], ends)
check("sockets carry protocol, state and pid", all(s["Protocol"] == "TCP" and s["State"] == "ESTABLISHED" and isinstance(s["Pid"], int) for s in ends), ends)
live = client.lookup("G.Flows().Has('Transport', NE('')).Sockets()")
check("without a time context both flows have sockets", sorted(live[0].keys()) == ["flow-http", "flow-ssh"], live)
graph = client.lookup("G.V().Has('Name', 'eth0').SubGraph()")
check("SubGraph() returns one graph", len(graph) == 1 and len(graph[0]["Nodes"]) == 2)
try:
    client.lookup("G.V(")
    check("bad gremlin raises BadRequest", False)
except BadRequest as e:
    check("bad gremlin raises BadRequest with the reason", b"Gremlin syntax error" in e.args[0], e.args)

# captures
capture = client.capture_create("G.V().Has('Name', 'eth0')", name="compat", bpf_filter="tcp port 22")
check("capture_create returns a Capture with a UUID", isinstance(capture, Capture) and len(capture.uuid) == 36)
check("capture defaults as Skydive", capture.layer_key_mode == "L2" and capture.polling_interval == 10 and capture.sampling_rate == 1 and capture.count == 0)
listed = client.capture_list()
check("capture_list lists it", [c.uuid for c in listed] == [capture.uuid] and listed[0].name == "compat" and listed[0].bpf_filter == "tcp port 22")
try:
    client.capture_create("G.V().Has('Name', 'eth0')", bpf_filter="tcp port 22")
    check("duplicate capture refused", False)
except BadRequest as e:
    check("duplicate capture refused", e.args[0] == b"duplicated resource", e.args)
client.capture_delete(capture.uuid)
check("capture_delete removes it", client.capture_list() == [])

# nodes and edges
n1 = client.node_create(node_id="tor-1", host="fabric", metadata={"Name": "tor1", "Type": "switch"})
n2 = client.node_create(node_id="tor-1-p1", host="fabric", metadata={"Name": "port1", "Type": "switchport"})
check("node_create returns the node", isinstance(n1, Node) and n1.id == "tor-1" and n1.host == "fabric" and n1.metadata["Type"] == "switch")
e1 = client.edge_create("tor-1", "tor-1-p1", edge_id="tor-1-e1", host="fabric", metadata={"RelationType": "ownership"})
check("edge_create returns the edge", isinstance(e1, Edge) and e1.parent == "tor-1" and e1.child == "tor-1-p1")
check("the new node is queryable", [n.id for n in client.lookup_nodes("G.V().Has('Type', 'switch')")] == ["tor-1"])
updated = client.node_update("tor-1", [{"op": "add", "path": "/Metadata/Model", "value": "x1"}])
check("node_update applies a JSON patch", updated.metadata.get("Model") == "x1" and updated.revision == 2)
check("node_list is keyed by ID", "tor-1" in [n.id for n in client.node_list()])
check("edge_list has the edge", "tor-1-e1" in [e.id for e in client.edge_list()])
client.edge_delete("tor-1-e1")
client.node_delete("tor-1-p1")
client.node_delete("tor-1")
check("node_delete removes nodes", client.lookup("G.V().Has('Type', 'switch').Count()") == 0)

# rules and alerts
rule = client.noderule_create("create", metadata={"Name": "tor2", "Type": "switch"})
check("noderule_create returns a rule", isinstance(rule, NodeRule) and rule.action == "create" and rule.metadata["Name"] == "tor2")
check("noderule_list lists it", [r.uuid for r in client.noderule_list()] == [rule.uuid])
client.noderule_delete(rule.uuid)
erule = client.edgerule_create("G.V().Has('Name', 'tor2')", "G.V().Has('Type', 'host')", {"RelationType": "layer2"})
check("edgerule_create returns a rule", isinstance(erule, EdgeRule) and erule.metadata["RelationType"] == "layer2")
client.edgerule_delete(erule.uuid)
alert = client.alert_create("http://127.0.0.1:9/hook", "G.V().Has('Type', 'switch')")
check("alert_create returns an alert", len(alert.uuid) == 36)
check("alert_list lists it", [a.uuid for a in client.alert_list()] == [alert.uuid])
client.alert_delete(alert.uuid)

# authentication
try:
    RESTClient(endpoint, username=username, password="wrong").lookup("G.V()")
    check("a wrong password is refused", False)
except urllib.error.HTTPError as e:
    check("a wrong password is refused with 401", e.code == 401)
try:
    RESTClient(endpoint).lookup("G.V()")
    check("no credentials are refused", False)
except BadRequest as e:
    check("no credentials are refused", b"No credentials provided" in e.args[0], e.args)

print(json.dumps({"result": "all checks passed"}))
