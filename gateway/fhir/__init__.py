"""FHIR R4 for systems that speak it: PDQm Patient $match (IHE ITI-119), the Patient read its
results point to, and the CapabilityStatement that says what is and is not supported.

The translation lives here (FHIR in, FHIR out); the routes call the same resolution, decision
and audit path as the JSON API, so FHIR is a face, not a second rulebook.
"""

from gateway.fhir.capability import capability_statement
from gateway.fhir.outcome import FHIR_JSON, FhirError, operation_outcome
from gateway.fhir.patient import MatchRequest, parse_match_request, person_to_patient

__all__ = ["FHIR_JSON", "FhirError", "MatchRequest", "capability_statement",
           "operation_outcome", "parse_match_request", "person_to_patient"]
