"""Every ECR / ECR Public error, declared once, named exactly like the botocore error shapes.

The store raises them, the control plane renders them as AWS JSON errors, and the registry
translates them into OCI error codes (``registry/oci_errors.py``). Messages follow what real ECR
says (``../shared/ECR_REFERENCE.md`` §1.2).
"""

from __future__ import annotations

from .awsjson.aws_error import (
    AccessDeniedException,
    AwsError,
    InvalidParameterException,
    SerializationException,
    ValidationException,
)

__all__ = [
    "AccessDeniedException",
    "AwsError",
    "EmptyUploadException",
    "ExclusionAlreadyExistsException",
    "ExclusionNotFoundException",
    "ImageAlreadyExistsException",
    "ImageArchivedException",
    "ImageDigestDoesNotMatchException",
    "ImageNotFoundException",
    "ImageStorageClassUpdateNotSupportedException",
    "ImageTagAlreadyExistsException",
    "InvalidLayerException",
    "InvalidLayerPartException",
    "InvalidParameterException",
    "InvalidTagParameterException",
    "LayerAlreadyExistsException",
    "LayerInaccessibleException",
    "LayerPartTooSmallException",
    "LayersNotFoundException",
    "LifecyclePolicyNotFoundException",
    "LifecyclePolicyPreviewInProgressException",
    "LifecyclePolicyPreviewNotFoundException",
    "LimitExceededException",
    "PullThroughCacheRuleAlreadyExistsException",
    "PullThroughCacheRuleNotFoundException",
    "ReferencedImagesNotFoundException",
    "RegistryNotFoundException",
    "RegistryPolicyNotFoundException",
    "ReplicationBackfillInProgressException",
    "ReplicationBackfillInvalidStatusException",
    "ReplicationBackfillNotFoundException",
    "RepositoryAlreadyExistsException",
    "RepositoryCatalogDataNotFoundException",
    "RepositoryNotEmptyException",
    "RepositoryNotFoundException",
    "RepositoryPolicyNotFoundException",
    "ScanNotFoundException",


    "SecretNotFoundException",
    "SerializationException",
    "TemplateAlreadyExistsException",
    "TemplateNotFoundException",


    "SigningConfigurationNotFoundException",
    "TooManyTagsException",
    "UnsupportedImageTypeException",


    "UnableToAccessSecretException",
    "UnableToDecryptSecretValueException",
    "UnableToGetUpstreamImageException",
    "UnableToGetUpstreamLayerException",
    "UnsupportedUpstreamRegistryException",
    "UploadNotFoundException",
    "ValidationException",
]


class RepositoryNotFoundException(AwsError):
    # ECR's text, as quoted in countless public reports (e.g. the AWS CLI's own troubleshooting
    # answers and hashicorp/terraform-provider-aws issues); moto asserts the same
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryNotFoundException":
        return cls(f"The repository with name '{name}' does not exist in the registry with id '{registry_id}'")


class RepositoryAlreadyExistsException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "RepositoryAlreadyExistsException":
        return cls(f"The repository with name '{name}' already exists in the registry with id '{registry_id}'")


class RepositoryNotEmptyException(AwsError):
    # ECR's text, quoted from real answers (CloudFormation "Resource handler returned message:
    # The repository with name 'helloworld' in registry with id '...' cannot be deleted because it
    # still contains images", terraform's "RepositoryNotEmptyException: The repository with name ...")
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
            # ECR's text (quoted from real BatchGetImage / DescribeImages answers in public reports)
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
    #: the emulator's own sentence: ECR's text for this refusal is not quoted in a public source
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


class ScanNotFoundException(AwsError):
    @classmethod
    def for_id(cls, image_id: dict, name: str, registry_id: str) -> "ScanNotFoundException":
        return cls(
            f"Image scan does not exist for the image with '{describe_image_id(image_id)}' in the "
            f"repository with name '{name}' in the registry with id '{registry_id}'"
        )


class ImageArchivedException(AwsError):
    pass


class UnsupportedImageTypeException(AwsError):
    pass


class ImageStorageClassUpdateNotSupportedException(AwsError):
    pass


class LifecyclePolicyNotFoundException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "LifecyclePolicyNotFoundException":
        return cls(
            f"Lifecycle policy does not exist for the repository with name '{name}' "
            f"in the registry with id '{registry_id}'"
        )


class LifecyclePolicyPreviewInProgressException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "LifecyclePolicyPreviewInProgressException":
        return cls(
            f"Previous lifecycle policy preview request has not completed for the repository with name "
            f"'{name}' in the registry with id '{registry_id}'. Wait and try again."
        )


class LifecyclePolicyPreviewNotFoundException(AwsError):
    @classmethod
    def named(cls, name: str, registry_id: str) -> "LifecyclePolicyPreviewNotFoundException":
        return cls(
            f"Lifecycle policy preview does not exist for the repository with name '{name}' "
            f"in the registry with id '{registry_id}'"
        )


# -- pull-through cache and repository creation templates -----------------------------------

class PullThroughCacheRuleAlreadyExistsException(AwsError):
    @classmethod
    def named(cls, prefix: str, registry_id: str) -> "PullThroughCacheRuleAlreadyExistsException":
        return cls(f"The pull through cache rule with prefix '{prefix}' already exists in the registry "
                   f"with id '{registry_id}'")


class PullThroughCacheRuleNotFoundException(AwsError):
    @classmethod
    def named(cls, prefix: str, registry_id: str) -> "PullThroughCacheRuleNotFoundException":
        return cls(f"The pull through cache rule with prefix '{prefix}' does not exist in the registry "
                   f"with id '{registry_id}'")


class UnsupportedUpstreamRegistryException(AwsError):
    pass


class SecretNotFoundException(AwsError):
    @classmethod
    def named(cls, arn: str) -> "SecretNotFoundException":
        return cls(f"The secret with ARN '{arn}' was not found. Update the pull through cache rule with a "
                   "valid secret ARN and try again.")


class UnableToAccessSecretException(AwsError):
    pass


class UnableToDecryptSecretValueException(AwsError):
    pass


class UnableToGetUpstreamImageException(AwsError):
    pass


class UnableToGetUpstreamLayerException(AwsError):
    pass


class TemplateAlreadyExistsException(AwsError):
    @classmethod
    def named(cls, prefix: str, registry_id: str) -> "TemplateAlreadyExistsException":
        return cls(f"The repository creation template with prefix '{prefix}' already exists in the "
                   f"registry with id '{registry_id}'")


class TemplateNotFoundException(AwsError):
    @classmethod
    def named(cls, prefix: str, registry_id: str) -> "TemplateNotFoundException":
        return cls(f"The repository creation template with prefix '{prefix}' does not exist in the "
                   f"registry with id '{registry_id}'")


# -- replication, signing, pull-time update exclusions ---------------------------------------

class ReplicationBackfillInProgressException(AwsError):
    pass


class ReplicationBackfillInvalidStatusException(AwsError):
    pass


class ReplicationBackfillNotFoundException(AwsError):
    @classmethod
    def named(cls, backfill_id: str, registry_id: str) -> "ReplicationBackfillNotFoundException":
        return cls(f"The replication backfill with id '{backfill_id}' does not exist in the registry "
                   f"with id '{registry_id}'")


class SigningConfigurationNotFoundException(AwsError):
    @classmethod
    def named(cls, registry_id: str) -> "SigningConfigurationNotFoundException":
        return cls(f"Signing configuration does not exist in the registry with id '{registry_id}'")


class ExclusionAlreadyExistsException(AwsError):
    pass


class ExclusionNotFoundException(AwsError):
    pass
