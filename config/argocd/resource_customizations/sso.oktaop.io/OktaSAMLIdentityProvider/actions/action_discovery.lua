-- The actions Argo CD offers on an okta-sso-operator object; make generate
-- copies this file to each kind's folder.
local actions = {}
actions["sync-now"] = {["disabled"] = obj.spec ~= nil and obj.spec.suspend == true, ["iconClass"] = "fa fa-fw fa-sync"}
return actions
