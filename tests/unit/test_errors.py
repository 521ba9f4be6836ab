"""Every AWS error class the emulator raises is named like an error shape of the models."""

import inspect

import botocore.session

from ecr_emulator import errors
from ecr_emulator.awsjson.aws_error import AwsError
from ecr_emulator.registry.oci_errors import AWS_TO_OCI, ERRORS


def _model_errors() -> set[str]:
    session = botocore.session.get_session()
    names = set()
    for service in ("ecr", "ecr-public"):
        names |= {shape.name for shape in session.get_service_model(service).error_shapes}
    return names


def test_every_declared_error_is_a_model_error_shape():
    declared = {
        name for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, AwsError) and cls.__module__ == errors.__name__
    }
    assert declared, "errors.py declares no errors"
    assert declared <= _model_errors()


def test_every_aws_error_the_registry_maps_has_a_known_oci_code():
    assert set(AWS_TO_OCI.values()) <= set(ERRORS)
