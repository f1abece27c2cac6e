# Unit tests of the default policy: `opa test policies/` (run by `npm test`).
# Each check has an allow case and a deny case whose reason is asserted word for word.
package maestro_test

import data.maestro

# A task decision that every check allows, against the shipped data.json.
task_input := {
	"stage": "task",
	"principal": {"subject": "alice", "roles": ["operator"], "namespaces": ["default"]},
	"workflow": {"name": "hello", "version": "1.0.0", "digest": "sha256:0000"},
	"task": {"id": "greet", "uses": "tasks/transform.map@0.1.0", "runsOn": "local", "labels": {}},
	"policy": {"purpose": "demo", "authority": "maestro-examples", "license": "internal"},
	"run": {"runId": "run-1", "namespace": "default", "traceId": "trace-1"},
}

run_input := object.remove(object.union(task_input, {"stage": "run"}), ["task"])

# `input` with one field replaced: with_field(["policy", "purpose"], "x").
with_field(path, value) := json.patch(task_input, [{"op": "add", "path": concat("/", array.concat([""], path)), "value": value}])

denied_with(decision, reason) if {
	decision.allow == false
	reason in decision.reasons
}

# --- the baseline ----------------------------------------------------------------------------

test_task_allowed_when_every_check_holds if {
	maestro.decision == {"allow": true, "reasons": [], "obligations": {}} with input as task_input
	maestro.allow with input as task_input
}

test_run_start_allowed_when_every_check_holds if {
	maestro.decision == {"allow": true, "reasons": [], "obligations": {}} with input as run_input
}

# --- check 0: input shape ---------------------------------------------------------------------

test_unknown_stage_denied if {
	d := maestro.decision with input as with_field(["stage"], "later")
	denied_with(d, "input.stage must be \"run\" or \"task\" (got \"later\")")
}

test_task_stage_without_task_denied if {
	d := maestro.decision with input as object.remove(task_input, ["task"])
	denied_with(d, "a task decision needs input.task with id and uses")
}

test_empty_input_denied_with_reasons if {
	d := maestro.decision with input as {}
	d.allow == false
	count(d.reasons) > 0
	not maestro.allow with input as {}
}

test_mistyped_roles_fail_closed if {
	d := maestro.decision with input as with_field(["principal", "roles"], [1, 2])
	denied_with(d, "principal \"alice\" holds none of the roles that act under authority \"maestro-examples\" (needs one of \"admin\", \"maestro-examples\", \"operator\"; holds none)")
}

# --- check 1: namespace ----------------------------------------------------------------------

test_wildcard_namespace_allowed if {
	maestro.allow with input as with_field(["principal", "namespaces"], ["*"])
}

test_other_namespace_denied if {
	d := maestro.decision with input as with_field(["principal", "namespaces"], ["ops"])
	denied_with(d, "principal \"alice\" may not act in namespace \"default\" (its namespaces: \"ops\")")
}

test_unconfigured_namespace_denied if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/run/namespace", "value": "nowhere"},
		{"op": "replace", "path": "/principal/namespaces", "value": ["*"]},
	])
	d := maestro.decision with input as i
	denied_with(d, "namespace \"nowhere\" has no entry in the policy's data (data.maestro_config.namespaces)")
}

# --- check 2: purpose ------------------------------------------------------------------------

test_purpose_on_namespace_list_allowed if {
	maestro.allow with input as with_field(["policy", "purpose"], "analytics")
}

test_purpose_off_namespace_list_denied if {
	d := maestro.decision with input as with_field(["policy", "purpose"], "marketing")
	denied_with(d, "purpose \"marketing\" is not allowed in namespace \"default\" (allowed: \"demo\", \"testing\", \"benchmark\", \"release\", \"analytics\", \"incident-response\", \"notification\", \"ingest\")")
}

test_purpose_checked_at_run_start if {
	d := maestro.decision with input as object.union(run_input, {"policy": {"purpose": "marketing", "authority": "maestro-examples", "license": "internal"}})
	d.allow == false
}

# --- check 3: authority ----------------------------------------------------------------------

test_role_named_like_authority_allowed if {
	maestro.allow with input as with_field(["principal", "roles"], ["maestro-examples"])
}

test_role_listed_for_authority_allowed if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/policy/authority", "value": "tasking:ops"},
		{"op": "replace", "path": "/principal/roles", "value": ["sre"]},
	])
	maestro.allow with input as i
}

test_admin_acts_under_any_authority if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/policy/authority", "value": "release-management"},
		{"op": "replace", "path": "/principal/roles", "value": ["admin"]},
	])
	maestro.allow with input as i
}

test_role_without_authority_denied if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/policy/authority", "value": "release-management"},
		{"op": "replace", "path": "/principal/roles", "value": ["operator", "viewer"]},
	])
	d := maestro.decision with input as i
	denied_with(d, "principal \"alice\" holds none of the roles that act under authority \"release-management\" (needs one of \"admin\", \"release-management\", \"release-manager\"; holds \"operator\", \"viewer\")")
}

# --- check 4: license and classification ------------------------------------------------------

test_license_permits_classification_allowed if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/policy/license", "value": "confidential"},
		{"op": "replace", "path": "/task/labels", "value": {"classification": "confidential"}},
	])
	maestro.allow with input as i
}

test_license_not_permitting_classification_denied if {
	d := maestro.decision with input as with_field(["task", "labels"], {"classification": "restricted"})
	denied_with(d, "license \"internal\" does not permit \"restricted\" data (it permits \"public\", \"internal\")")
}

test_default_classification_applies_without_label if {
	d := maestro.decision with input as with_field(["policy", "license"], "public")
	denied_with(d, "license \"public\" does not permit \"internal\" data (it permits \"public\")")
}

test_unknown_license_denied if {
	d := maestro.decision with input as with_field(["policy", "license"], "cc-by-nc")
	denied_with(d, "license \"cc-by-nc\" is not known to the policy (known: \"confidential\", \"internal\", \"public\", \"restricted\")")
}

test_unknown_classification_denied if {
	d := maestro.decision with input as with_field(["task", "labels"], {"classification": "secretish"})
	denied_with(d, "data classification \"secretish\" is not known to the policy (known: \"public\", \"internal\", \"confidential\", \"restricted\")")
}

# --- check 5: egress -------------------------------------------------------------------------

test_egress_task_with_allowance_allowed if {
	maestro.allow with input as with_field(["task", "uses"], "tasks/http.request@0.1.0")
}

test_egress_task_without_allowance_denied if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/run/namespace", "value": "sandbox"},
		{"op": "replace", "path": "/principal/namespaces", "value": ["sandbox"]},
		{"op": "replace", "path": "/task/uses", "value": "tasks/http.request@0.1.0"},
	])
	d := maestro.decision with input as i
	denied_with(d, "task \"greet\" uses tasks/http.request, which sends data outside Maestro's trust boundary, and namespace \"sandbox\" has no egress allowance for it (add it to data.maestro_config.namespaces[\"sandbox\"].egress)")
}

test_connector_prefix_allowance_allowed if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/run/namespace", "value": "ops"},
		{"op": "replace", "path": "/principal/namespaces", "value": ["ops"]},
		{"op": "replace", "path": "/policy/purpose", "value": "incident-response"},
		{"op": "replace", "path": "/task/uses", "value": "connectors/kafka.produce@1.2.0"},
	])
	maestro.allow with input as i
}

test_connector_without_allowance_denied if {
	d := maestro.decision with input as with_field(["task", "uses"], "connectors/kafka.produce@1.2.0")
	denied_with(d, "task \"greet\" uses connectors/kafka.produce, which sends data outside Maestro's trust boundary, and namespace \"default\" has no egress allowance for it (add it to data.maestro_config.namespaces[\"default\"].egress)")
}

# Every task that opens a connection needs the allowance: gRPC and serverless functions too, not only HTTP.
test_every_connecting_task_needs_an_egress_allowance if {
	every uses in ["tasks/grpc.call@0.1.0", "tasks/function.invoke@0.1.0", "connectors/db.query@0.1.0", "connectors/s3.put@0.1.0", "connectors/nats.publish@0.1.0", "connectors/kafka.publish@0.1.0", "connectors/sig.ingest@0.1.0"] {
		d := maestro.decision with input as json.patch(task_input, [
			{"op": "replace", "path": "/run/namespace", "value": "sandbox"},
			{"op": "replace", "path": "/principal/namespaces", "value": ["sandbox"]},
			{"op": "replace", "path": "/policy/purpose", "value": "testing"},
			{"op": "replace", "path": "/task/uses", "value": uses},
		])
		not d.allow
		some reason in d.reasons
		contains(reason, "has no egress allowance for it")
	}
}

test_egress_not_checked_at_run_start if {
	maestro.allow with input as object.union(run_input, {"run": {"runId": "run-1", "namespace": "sandbox"}, "principal": {"subject": "alice", "roles": ["operator"], "namespaces": ["sandbox"]}})
}

# --- several failures: every reason is reported, sorted -----------------------------------------

test_all_reasons_reported_sorted if {
	i := json.patch(task_input, [
		{"op": "replace", "path": "/policy/purpose", "value": "marketing"},
		{"op": "replace", "path": "/policy/license", "value": "public"},
	])
	d := maestro.decision with input as i
	count(d.reasons) == 2
	d.reasons == sort(d.reasons)
}

# --- obligations: signed images where the namespace requires them -------------------------------

ops_task(runs_on) := json.patch(task_input, [
	{"op": "replace", "path": "/run/namespace", "value": "ops"},
	{"op": "replace", "path": "/principal/namespaces", "value": ["ops"]},
	{"op": "replace", "path": "/policy/purpose", "value": "release"},
	{"op": "replace", "path": "/task/uses", "value": "tasks/container.run@0.1.0"},
	{"op": "replace", "path": "/task/runsOn", "value": runs_on},
])

test_container_task_in_signed_namespace_must_use_a_signed_image if {
	maestro.decision == {"allow": true, "reasons": [], "obligations": {"requireSignedImage": true}} with input as ops_task("container")
}

test_no_signed_image_obligation_elsewhere if {
	maestro.decision.obligations == {} with input as ops_task("local")
	maestro.decision.obligations == {} with input as ops_task("k8s")
	maestro.decision.obligations == {} with input as with_field(["task", "runsOn"], "container")
	maestro.decision.obligations == {} with input as object.union(run_input, {"run": {"runId": "run-1", "namespace": "ops"}, "principal": {"subject": "alice", "roles": ["operator"], "namespaces": ["ops"]}, "policy": {"purpose": "release", "authority": "maestro-examples", "license": "internal"}})
}
