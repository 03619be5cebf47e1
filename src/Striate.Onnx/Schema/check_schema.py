#!/usr/bin/env python3
"""Checks Striate's ONNX schema subset (onnx.proto beside this file) against the reference onnx package.

Every message and enum Striate declares must exist in the reference with the same full name, and every field and enum
value Striate declares must have the reference's number, type, label and (for messages and enums) type name. Fields the
reference has and Striate leaves out are listed for information only (they are skipped when reading).

Usage: check_schema.py DESCRIPTOR_SET   (protoc --descriptor_set_out of onnx.proto; the build writes it to
       src/Striate.Onnx/obj/<configuration>/<framework>/onnx/onnx.desc). Needs python3-onnx (Debian) or pip onnx.
"""
import sys

from google.protobuf import descriptor_pb2
import onnx.onnx_ml_pb2 as reference


def reference_messages():
    found = {}

    def walk(desc):
        found[desc.full_name] = desc
        for nested in desc.nested_types:
            walk(nested)

    for desc in reference.DESCRIPTOR.message_types_by_name.values():
        walk(desc)
    return found


def reference_enums(messages):
    enums = {e.full_name: e for e in reference.DESCRIPTOR.enum_types_by_name.values()}
    for m in messages.values():
        for e in m.enum_types:
            enums[e.full_name] = e
    return enums


def main(path):
    ours = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        ours.ParseFromString(f.read())
    messages = reference_messages()
    enums = reference_enums(messages)
    errors, skipped, checked = [], [], 0

    def check_enum(full, enum):
        ref = enums.get(full)
        if ref is None:
            errors.append(f"enum {full} is not in the reference")
            return
        for value in enum.value:
            rv = ref.values_by_name.get(value.name)
            if rv is None or rv.number != value.number:
                errors.append(f"{full}.{value.name} = {value.number}, reference {rv.number if rv else 'absent'}")

    def check_message(full, msg):
        nonlocal checked
        ref = messages.get(full)
        if ref is None:
            errors.append(f"message {full} is not in the reference")
            return
        for field in msg.field:
            rf = ref.fields_by_name.get(field.name)
            if rf is None:
                errors.append(f"{full}.{field.name} is not in the reference")
                continue
            checked += 1
            ours_type = field.type_name.lstrip(".")
            ref_type = rf.message_type.full_name if rf.message_type else rf.enum_type.full_name if rf.enum_type else ""
            if (field.number, field.type, field.label) != (rf.number, rf.type, rf.label) or ours_type != ref_type:
                errors.append(f"{full}.{field.name}: number {field.number} type {field.type} label {field.label} {ours_type}; "
                              f"reference number {rf.number} type {rf.type} label {rf.label} {ref_type}")
        names = {f.name for f in msg.field}
        skipped.extend(f"{full}.{f.name}" for f in ref.fields if f.name not in names)
        for nested in msg.nested_type:
            check_message(f"{full}.{nested.name}", nested)
        for enum in msg.enum_type:
            check_enum(f"{full}.{enum.name}", enum)

    for file in ours.file:
        for msg in file.message_type:
            check_message(f"{file.package}.{msg.name}", msg)
        for enum in file.enum_type:
            check_enum(f"{file.package}.{enum.name}", enum)
    print(f"check_schema: {checked} fields agree with the reference onnx.proto; left out: {', '.join(skipped) or 'none'}")
    for e in errors:
        print("check_schema: MISMATCH", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
