"""Every ECR / ECR Public error, declared once, named exactly like the botocore error shapes.

The store raises them, the control plane renders them as AWS JSON errors, and the registry
translates them into OCI error codes (``registry/errors.py``). Messages follow what real ECR
says (``../shared/ECR_REFERENCE.md`` §1.2).
"""

from __future__ import annotations

from .awsjson.errors import AwsError, InvalidParameterException, SerializationException, ValidationException

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



class InvalidTagParameterException(AwsError):
    pass


class TooManyTagsException(AwsError):
    pass


class LimitExceededException(AwsError):
    pass


def describe_image_id(image_id: dict) -> str:
    """``{imageDigest:'<d>', imageTag:'<t>'}`` as ECR writes an image id in messages."""
    return (f"{{imageDigest:'{image_id.get('imageDigest') or 'null'}', "
            f"imageTag:'{image_id.get('imageTag') or 'null'}'}}")


class ImageNotFoundException(AwsError):
    @classmethod
    def for_id(cls, image_id: dict, name: str, registry_id: str) -> "ImageNotFoundException":
        return cls(
            f"The image with imageId {describe_image_id(image_id)} does not exist within the "
            f"repository with name '{name}' in the registry with id '{registry_id}'"
        )


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
    @classmethod
    def named(cls, digest: str, name: str, registry_id: str) -> "LayerAlreadyExistsException":
        return cls(f"The layer with digest '{digest}' already exists in the repository with name "
                   f"'{name}' in the registry with id '{registry_id}'")


class LayerInaccessibleException(AwsError):
    @classmethod
    def named(cls, digest: str, name: str, registry_id: str) -> "LayerInaccessibleException":
        return cls(f"The layer with digest '{digest}' in the repository with name '{name}' in the "
                   f"registry with id '{registry_id}' is not associated with an image")


class LayerPartTooSmallException(AwsError):
    #: ECR's own wording
    MESSAGE = "All layer parts except the last part should be at least 5MB"


class InvalidLayerException(AwsError):
    pass


class InvalidLayerPartException(AwsError):
    """Carries ``registryId, repositoryName, uploadId, lastValidByteReceived`` as the model says."""


class EmptyUploadException(AwsError):
    pass


class UploadNotFoundException(AwsError):
    @classmethod
    def named(cls, upload_id: str, name: str, registry_id: str) -> "UploadNotFoundException":
        return cls(f"The upload with id '{upload_id}' does not exist in the repository with name "
                   f"'{name}' in the registry with id '{registry_id}'")
