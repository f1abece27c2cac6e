# METADATA
# title: Maestro default policy
# description: |
#   Decides whether a principal may start a run (stage "run") or execute one task of it
#   (stage "task"). The input document is described in policies/README.md; the settings
#   (namespaces, authorities, licenses, egress) live in policies/data.json under
#   data.maestro_config.
#
#   A request is allowed only when every check below holds. Each check has a `deny` rule that
#   says, in plain words, why it failed and what to change. Rules read the input through helpers
#   whose defaults make a missing or mistyped field fail its check rather than slip through.
#   Messages are built with concat (not sprintf) so the WebAssembly build and the OPA server give
#   byte-identical reasons.
package maestro

settings := data.maestro_config

# ---------------------------------------------------------------------------------------------
# Entrypoints. `maestro/decision` is what Maestro asks; `maestro/allow` is the same answer as a
# bare boolean, for tools that only want yes or no.
# ---------------------------------------------------------------------------------------------

default allow := false

allow if {
	input_ok
	in_namespace
	purpose_allowed
	has_authority
	license_permits
	egress_ok
	count(deny) == 0
}

decision := {"allow": allow, "reasons": reasons, "obligations": obligations}

# Every deny is explained; this default only shows if a check failed in a way no rule describes.
default reasons := ["denied: the input document is malformed (see policies/README.md)"]

reasons := sort(deny) if count(deny) > 0

reasons := [] if allow

# ---------------------------------------------------------------------------------------------
# Input, read defensively: a missing or mistyped field gets a value no check accepts.
# ---------------------------------------------------------------------------------------------

default stage := ""

stage := input.stage if is_string(input.stage)

default subject := "(unknown principal)"

subject := input.principal.subject if is_string(input.principal.subject)

default roles := []

roles := [role | some role in input.principal.roles; is_string(role)] if is_array(input.principal.roles)

default principal_namespaces := []

principal_namespaces := [ns | some ns in input.principal.namespaces; is_string(ns)] if is_array(input.principal.namespaces)

default namespace := ""

namespace := input.run.namespace if is_string(input.run.namespace)

default purpose := ""

purpose := input.policy.purpose if is_string(input.policy.purpose)

default authority := ""

authority := input.policy.authority if is_string(input.policy.authority)

default license := ""

license := input.policy.license if is_string(input.policy.license)

# The data classification: the task's `classification` label, else the configured default (which
# is also the classification a run-start decision is made for).
default classification := ""

classification := input.task.labels.classification if {
	stage == "task"
	is_string(input.task.labels.classification)
}

classification := settings.default_classification if {
	stage == "task"
	not input.task.labels.classification
}

classification := settings.default_classification if stage == "run"

# The catalog name of the task, without its version: `tasks/http.request@0.1.0` → `tasks/http.request`.
default task_name := ""

task_name := split(input.task.uses, "@")[0] if is_string(input.task.uses)

default task_id := "(unknown task)"

task_id := input.task.id if is_string(input.task.id)

namespace_settings := settings.namespaces[namespace]

# Message helpers: `"x"` and `"a", "b"`.
quote(s) := concat("", ["\"", s, "\""])

quoted_list(xs) := concat(", ", [quote(x) | some x in xs]) if count(xs) > 0

quoted_list(xs) := "none" if count(xs) == 0

# ---------------------------------------------------------------------------------------------
# Check 0: the input is one Maestro asks about.
# ---------------------------------------------------------------------------------------------

input_ok if stage == "run"

input_ok if {
	stage == "task"
	task_name != ""
}

deny contains msg if {
	not stage in {"run", "task"}
	msg := concat("", ["input.stage must be \"run\" or \"task\" (got ", quote(stage), ")"])
}

deny contains "a task decision needs input.task with id and uses" if {
	stage == "task"
	task_name == ""
}

# ---------------------------------------------------------------------------------------------
# Check 1: the principal may act in the run's namespace, and the namespace is configured.
# ---------------------------------------------------------------------------------------------

in_namespace if {
	namespace_settings
	"*" in principal_namespaces
}

in_namespace if {
	namespace_settings
	namespace in principal_namespaces
}

deny contains msg if {
	not "*" in principal_namespaces
	not namespace in principal_namespaces
	msg := concat("", [
		"principal ", quote(subject), " may not act in namespace ", quote(namespace),
		" (its namespaces: ", quoted_list(principal_namespaces), ")",
	])
}

deny contains msg if {
	not namespace_settings
	msg := concat("", ["namespace ", quote(namespace), " has no entry in the policy's data (data.maestro_config.namespaces)"])
}

# ---------------------------------------------------------------------------------------------
# Check 2: the purpose is on the namespace's allowed list.
# ---------------------------------------------------------------------------------------------

purpose_allowed if purpose in namespace_settings.purposes

deny contains msg if {
	namespace_settings
	not purpose_allowed
	msg := concat("", [
		"purpose ", quote(purpose), " is not allowed in namespace ", quote(namespace),
		" (allowed: ", quoted_list(namespace_settings.purposes), ")",
	])
}

# ---------------------------------------------------------------------------------------------
# Check 3: the authority matches one of the principal's roles: a role named like the authority,
# a role the data lists for that authority, or a role that may act under any authority ("*").
# ---------------------------------------------------------------------------------------------

authority_roles contains authority if authority != ""

authority_roles contains role if some role in settings.authorities[authority]

authority_roles contains role if some role in settings.authorities["*"]

has_authority if {
	some role in roles
	role in authority_roles
}

deny contains msg if {
	not has_authority
	msg := concat("", [
		"principal ", quote(subject), " holds none of the roles that act under authority ", quote(authority),
		" (needs one of ", quoted_list(sort(authority_roles)), "; holds ", quoted_list(roles), ")",
	])
}

# ---------------------------------------------------------------------------------------------
# Check 4: the license is known and permits the data's classification.
# ---------------------------------------------------------------------------------------------

license_permits if {
	classification in settings.classifications
	classification in settings.licenses[license]
}

deny contains msg if {
	not settings.licenses[license]
	msg := concat("", [
		"license ", quote(license), " is not known to the policy (known: ",
		quoted_list(sort(object.keys(settings.licenses))), ")",
	])
}

deny contains msg if {
	not classification in settings.classifications
	msg := concat("", [
		"data classification ", quote(classification), " is not known to the policy (known: ",
		quoted_list(settings.classifications), ")",
	])
}

deny contains msg if {
	classification in settings.classifications
	permitted := settings.licenses[license]
	not classification in permitted
	msg := concat("", [
		"license ", quote(license), " does not permit ", quote(classification),
		" data (it permits ", quoted_list(permitted), ")",
	])
}

# ---------------------------------------------------------------------------------------------
# Check 5: a task that sends data outside Maestro's trust boundary (HTTP, chat, any connector)
# needs an explicit egress allowance in its namespace. An allowance is a catalog name, or a
# prefix ending in "/*" (`connectors/*`).
# ---------------------------------------------------------------------------------------------

leaves_trust_boundary if task_name in settings.egress.tasks

leaves_trust_boundary if {
	some prefix in settings.egress.prefixes
	startswith(task_name, prefix)
}

egress_allowed if task_name in namespace_settings.egress

egress_allowed if {
	some allowance in namespace_settings.egress
	endswith(allowance, "/*")
	startswith(task_name, trim_suffix(allowance, "*"))
}

egress_ok if stage == "run"

egress_ok if {
	stage == "task"
	not leaves_trust_boundary
}

egress_ok if {
	stage == "task"
	egress_allowed
}

deny contains msg if {
	stage == "task"
	leaves_trust_boundary
	not egress_allowed
	msg := concat("", [
		"task ", quote(task_id), " uses ", task_name,
		", which sends data outside Maestro's trust boundary, and namespace ", quote(namespace),
		" has no egress allowance for it (add it to data.maestro_config.namespaces[", quote(namespace), "].egress)",
	])
}

# ---------------------------------------------------------------------------------------------
# Obligations: what an allowed task must do to run. `requireSignedImage`: a task that runs in a
# container (`runsOn: container`), in a namespace whose data sets `require_signed_images`, starts
# only from an image with a trusted signature (the container runner verifies it before the start;
# IMAGE_NOT_VERIFIED otherwise). A Kubernetes cluster pulls its images itself: enforce signatures
# there with an admission controller.
# ---------------------------------------------------------------------------------------------

default obligations := {}

obligations := {"requireSignedImage": true} if {
	stage == "task"
	input.task.runsOn == "container"
	namespace_settings.require_signed_images == true
}
