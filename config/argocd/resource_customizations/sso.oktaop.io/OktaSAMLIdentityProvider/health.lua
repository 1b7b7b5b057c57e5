-- Argo CD health of an okta-sso-operator object (OktaSAMLApp, SSOBinding,
-- AccountSync, OktaSAMLIdentityProvider); make generate copies this file to
-- each kind's folder.
--   Suspended    spec.suspend is true, or spec.dryRun (nothing is written)
--   Degraded     Stalled=True, or Ready=False for a reason a person must act on
--                (the condition's message says what)
--   Progressing  the generation is not reconciled yet, Ready is Unknown or
--                missing, or Ready=False for a reason that passes (a rate limit,
--                a retried failure, a dependency not Ready yet)
--   Healthy      Ready=True at the current generation
local hs = {}

local passing = {
  Progressing = true, Throttled = true, ReconcileError = true, DependencyNotReady = true,
  KeyRotationPending = true, TargetUnavailable = true, SourceIncomplete = true,
  InvalidResponse = true, Deleting = true,
}

local function condition(conditions, type)
  for _, c in ipairs(conditions or {}) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- current: a condition written for this generation (or one that does not say).
local function current(c, generation)
  return c.observedGeneration == nil or generation == nil or c.observedGeneration >= generation
end

local spec = obj.spec or {}
if spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: nothing is read or written"
  return hs
end

local status = obj.status or {}
local generation = obj.metadata.generation
local ready = condition(status.conditions, "Ready")
local stalled = condition(status.conditions, "Stalled")

if stalled ~= nil and stalled.status == "True" and current(stalled, generation) then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
if ready ~= nil and ready.status == "False" and current(ready, generation) then
  if ready.reason == "DryRun" then
    hs.status = "Suspended"
  elseif passing[ready.reason] then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = ready.message
  return hs
end
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. generation
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
if ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
end
return hs
