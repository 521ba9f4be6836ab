"""Every ECR / ECR Public error, declared once, named exactly like the botocore error shapes.

The store raises them, the control plane renders them as AWS JSON errors, and the registry
translates them into OCI error codes (``registry/errors.py``). Messages follow what real ECR
says (``../shared/ECR_REFERENCE.md`` §1.2).
"""

from __future__ import annotations

from .awsjson.errors import AwsError, InvalidParameterException, SerializationException

__all__ = [
    "AwsError",
    "EmptyUploadException",
    "ImageAlreadyExistsException",
    "ImageDigestDoesNotMatchException",
    "ImageNotFoundException",
    "ImageTagAlreadyExistsException",
    "InvalidLayerException",
    "InvalidLayerPartException",
    "InvalidParameterException",
    "InvalidTagParameterException",
    "LayerAlreadyExistsException",
    "LayerInaccessibleException",
    "LayerPartTooSmallException",
    "LayersNotFoundException",
    "LimitExceededException",
    "ReferencedImagesNotFoundException",
    "RegistryNotFoundException",
    "RegistryPolicyNotFoundException",
    "RepositoryAlreadyExistsException",
    "RepositoryCatalogDataNotFoundException",
    "RepositoryNotEmptyException",
    "RepositoryNotFoundException",
    "RepositoryPolicyNotFoundException",
    "SerializationException",
    "TooManyTagsException",
    "UploadNotFoundException",
    "ValidationException",
]


class RepositoryNotFoundException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryNotFoundException":
        return cls(f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'")


class RepositoryAlreadyExistsException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryAlreadyExistsException":
        return cls(f"The repository with name '{name}' already exists in the registry with id '{registry_id}'")


class RepositoryNotEmptyException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryNotEmptyException":
        return cls(
            f"The repository with name '{name}' in registry with id '{registry_id}' "
            "cannot be deleted because it still contains images"
        )


class RepositoryPolicyNotFoundException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryPolicyNotFoundException":
        return cls(
            f"Repository policy does not exist for the repository with name '{name}' "
            f"in the registry with id '{registry_id}'"
        )


class RegistryPolicyNotFoundException(AwsError):
    @classmethod
    def named(cls, registry_id: str) -> "RegistryPolicyNotFoundException":
        return cls(f"Registry policy does not exist in the registry with id '{registry_id}'")


class RepositoryCatalogDataNotFoundException(AwsError):
    pass


class RegistryNotFoundException(AwsError):
    pass


class ValidationException(AwsError):
    pass


class InvalidTagParameterException(AwsError):
    pass


class TooManyTagsException(AwsError):
    pass


class LimitExceededException(AwsError):
    pass


class ImageNotFoundException(AwsError):
    pass


class ImageAlreadyExistsException(AwsError):
    pass


class ImageTagAlreadyExistsException(AwsError):
    pass


class ImageDigestDoesNotMatchException(AwsError):
    pass


class LayersNotFoundException(AwsError):
    pass


class ReferencedImagesNotFoundException(AwsError):
    pass


class LayerAlreadyExistsException(AwsError):
    pass


class LayerInaccessibleException(AwsError):
    pass


class LayerPartTooSmallException(AwsError):
    pass


class InvalidLayerException(AwsError):
    pass


class InvalidLayerPartException(AwsError):
    """Carries ``registryId, repositoryName, uploadId, lastValidByteReceived`` as the model says."""


class EmptyUploadException(AwsError):
    pass


class UploadNotFoundException(AwsError):
    pass
